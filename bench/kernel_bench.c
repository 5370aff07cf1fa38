/* \file bench/kernel_bench.c  Time riskgrid's training kernels alone
 * (shardgrad.h) on one step of 16 shards: forward/backward of all rows, and
 * the fused fixed-point sum of the per-shard gradients.  Prints the best of
 * 5 repetitions of ITERS calls, in microseconds per step.
 *
 * Parameters, rows and the sum are cache-line aligned, as in training.
 *
 * usage: kernel_bench F H C ROWS_PER_SHARD ITERS   (C = 1: sigmoid, else softmax)
 * Built by bench/run.sh against the Release libriskgrid_core.a. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "riskgrid/shardgrad.h"
#include "riskgrid/mlp.h"
#include "riskgrid/mem.h"
#include "riskgrid/rng.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  if(argc!=6){fprintf(stderr,"usage: kernel_bench F H C ROWS_PER_SHARD ITERS\n");return 2;}
  int F=atoi(argv[1]),H=atoi(argv[2]),C=atoi(argv[3]),m=atoi(argv[4]),ns=16,iters=atoi(argv[5]);
  mlp_shape s={F,H,C,C>1}; mlp_layout L=mlp_layout_of(&s);
  float*p=mem_alloc64(L.n,4,0); mlp_init(&s,1,p);
  int R=ns*m; float*x=mem_alloc64((size_t)R*F,4,0); int32_t*y=malloc(R*4);
  for(size_t i=0;i<(size_t)R*F;i++) x[i]=(float)rng_normal(7,i);
  for(int r=0;r<R;r++) y[r]=r%(C>1?C:2);
  shardgrad*g=shardgrad_new(&s,ns,m); double loss[16]; int es[16]; int64_t*acc=mem_alloc64(L.n,8,0);
  shardgrad_forward_backward(g,p,x,y,ns,loss); shardgrad_sum(g,0,F,0,4,acc,es); int e=-1000; for(int i=0;i<ns;i++) if(es[i]>e)e=es[i];
  double best_fb=1e9,best_sum=1e9;
  for(int rep=0;rep<5;rep++){
    double t0=now(); for(int it=0;it<iters;it++) shardgrad_forward_backward(g,p,x,y,ns,loss);
    double t1=now(); for(int it=0;it<iters;it++) shardgrad_sum(g,0,F,e,4,acc,es);
    double t2=now(); if(t1-t0<best_fb)best_fb=t1-t0; if(t2-t1<best_sum)best_sum=t2-t1;}
  printf("kernels %s F=%d H=%d C=%d rows/shard=%d (16 shards): forward+backward %.2f us/step, fixed-point sum %.2f us/step, %.3f us/row\n",shardgrad_variant_name(shardgrad_variant()),F,H,C,m,best_fb/iters*1e6,best_sum/iters*1e6,(best_fb+best_sum)/iters*1e6/R);
  return 0;}
